"""Reference data: regions (ZVH), gemeenten by CBS code, DJI institutions, partner organisations."""
