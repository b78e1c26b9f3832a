"""Training: the optimiser loop, the losses and the Trans-Encoder stages."""
