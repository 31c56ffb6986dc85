
epsilonoƒ: 