"""One router per kind of resource the service offers."""
