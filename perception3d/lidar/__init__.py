"""LiDAR processing: physically consistent augmentation, weather, voxelization."""
