"""The card family: the card lifecycle and the processes over it."""
