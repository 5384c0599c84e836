"""Camera sensor model and ISP front ends (classical and learned)."""
