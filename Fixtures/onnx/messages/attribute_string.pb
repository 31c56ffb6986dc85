
auto_pad"NOTSET 