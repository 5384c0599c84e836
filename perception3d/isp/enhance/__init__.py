"""Low-light enhancement of 8-bit sRGB images (real KITTI frames exist only as sRGB): training
pairs from synthetic captures (``pairs``), gamma / CLAHE baselines (``baselines``) and an
illumination-map enhancer after Wang et al., CVPR 2019 (``illumination``)."""
