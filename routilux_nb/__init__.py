"""routilux_nb."""
