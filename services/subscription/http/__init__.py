"""What the entry points (api/, web/) share about HTTP: the problem they raise, reading an
upload, the import's downloads. Below them only; nothing under the use cases imports it."""
