"""evaluation_room package."""
