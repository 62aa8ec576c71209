// The query page: runs the query with fetch and shows the answer; no library, no CDN.
(function () {
  "use strict";
  var form = document.getElementById("query-form");
  var status = document.getElementById("status");
  var result = document.getElementById("result");
  // [IRI prefix, path it is served at here]: an IRI of this service links to its page here
  var local = JSON.parse(form.getAttribute("data-local") || "[]");

  function localHref(iri) {
    for (var i = 0; i < local.length; i++) {
      var prefix = local[i][0], rest = iri.slice(prefix.length);
      if (iri.indexOf(prefix) === 0 &&
          (/[\/#]$/.test(prefix) || rest === "" || rest.charAt(0) === "#")) {
        return local[i][1] + rest;
      }
    }
    return null;
  }

  function cell(term) {
    if (!term) { return document.createTextNode(""); }
    if (term.type === "uri") {
      var a = document.createElement("a");
      var here = localHref(term.value);
      a.href = here === null ? term.value : here;
      a.title = term.value;
      a.textContent = term.value;
      return a;
    }
    var text = term.value;
    if (term["xml:lang"]) { text += " @" + term["xml:lang"]; }
    return document.createTextNode(text);
  }

  function table(data) {
    var t = document.createElement("table");
    var head = t.createTHead().insertRow();
    data.head.vars.forEach(function (v) {
      var th = document.createElement("th");
      th.textContent = v;
      head.appendChild(th);
    });
    var body = t.createTBody();
    data.results.bindings.forEach(function (b) {
      var row = body.insertRow();
      data.head.vars.forEach(function (v) { row.insertCell().appendChild(cell(b[v])); });
    });
    return t;
  }

  function run() {
    var accept = document.getElementById("accept").value;
    var query = document.getElementById("query").value;
    var body = new URLSearchParams();
    body.set("query", query);
    // the address bar now names this query: a link that opens this page and runs it
    history.replaceState(null, "", location.pathname + "?" + body.toString());
    status.textContent = "running…";
    status.className = "";
    result.innerHTML = "";
    var started = performance.now();
    fetch(form.action, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": accept },
      body: body
    }).then(function (response) {
      var seconds = ((performance.now() - started) / 1000).toFixed(2);
      var cut = response.headers.get("Meshkg-Result-Cut");
      return response.text().then(function (text) {
        if (!response.ok) {
          var message = text;
          try { message = JSON.parse(text).error.message; } catch (e) { /* plain text */ }
          status.textContent = response.status + ": " + message;
          status.className = "error";
          return;
        }
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("sparql-results+json") >= 0) {
          var data = JSON.parse(text);
          if (data.boolean !== undefined) {
            result.textContent = String(data.boolean);
          } else {
            result.appendChild(table(data));
          }
          status.textContent = (data.results ? data.results.bindings.length + " rows" : "answer") +
            " in " + seconds + " s" + (cut ? " — cut at " + cut : "");
        } else {
          var pre = document.createElement("pre");
          pre.textContent = text;
          result.appendChild(pre);
          status.textContent = "answer in " + seconds + " s" + (cut ? " — cut at " + cut : "");
        }
      });
    }).catch(function (error) {
      status.textContent = String(error);
      status.className = "error";
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });
  if (form.getAttribute("data-run")) { run(); }
}());
