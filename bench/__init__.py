"""`make bench`: recovery time and recovery point of pgpitr's defaults, measured on this
machine beside the raw limit and pgBackRest. Separate from the tests."""
