"""The resident's own data: registration (`registration`) and the profile (`profile`), two
dialogues that share the phone and e-mail steps (`steps`). Each has its own router: registration
is open to everyone, the profile to registered residents only."""
