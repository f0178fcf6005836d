"""The attacker suite: nothing reveals who was drawn, invited, booked or accepted before opening."""
