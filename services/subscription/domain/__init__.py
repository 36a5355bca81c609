"""Pure deciders: `decide(command, state) -> events`, `evolve(state, event) -> state`."""
