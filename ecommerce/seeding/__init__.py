"""Generated data: demo catalog and order history."""
