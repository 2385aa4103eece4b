"""What several experiment families share: data, checkpoints, writers, images, mesh, loop."""
