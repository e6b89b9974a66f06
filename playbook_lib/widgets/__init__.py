"""ipywidgets front ends for the notebooks: controls only, the logic lives in the library modules they call."""
