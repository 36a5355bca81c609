"""The HTTP API's routes: parse the request, make one use-case call, render the answer."""
