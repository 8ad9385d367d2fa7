"""The GitHub Action's glue: inputs, workflow commands, PR comment, approval, drift issue."""
