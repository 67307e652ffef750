"""Russian texts, one module per feature. Values are escaped by the caller (`texts.fmt.esc`)."""
