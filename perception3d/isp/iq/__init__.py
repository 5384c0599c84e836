"""Image-quality measures of a camera + ISP on rendered test charts (``perception3d isp
iq-report``): one small module per measure (``sfr``, ``noise``, ``colour``, ``vignetting``,
``distortion``, ``texture``) and per chart (``charts``, ``colorchecker``), the lens that images
the charts (``optics``). Measures take NumPy arrays (float64 inside) and return dataclasses or
dicts of plain floats.
"""
