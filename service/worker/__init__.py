"""The reference worker: takes tasks from the queue, renders them on a WebUI, stores the images.

Run it beside a Stable Diffusion WebUI with `python -m service.worker`; see docs/worker.md.
"""
