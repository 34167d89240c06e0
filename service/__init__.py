"""SD task service: the front door of a Stable Diffusion inference system on AWS."""
