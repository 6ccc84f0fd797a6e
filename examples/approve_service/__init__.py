"""An agent service with a human in the loop: a draft, approved or edited by a person."""
