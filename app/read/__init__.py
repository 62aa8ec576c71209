"""Read models: the tables and resource descriptions pages and the JSON API are made from."""
