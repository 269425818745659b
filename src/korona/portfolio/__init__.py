"""The koronaportefølje: needs, inputs, existing solutions, assessment, net list and measures."""
