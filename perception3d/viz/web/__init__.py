"""The browser viewer (``perception3d view``): ``scene`` turns a frame into the viewer's JSON
data, ``page`` writes the self-contained HTML file (viewer code in ``perception3d/assets/
viewer/``). See docs/visualization.md."""
