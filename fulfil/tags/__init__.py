"""RFID tags: their state machine (versioned transitions) and the sales that end a tag's life in stock."""
