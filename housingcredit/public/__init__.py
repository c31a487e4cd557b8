"""Public lists (社会公开, HB 八; SPEC §6, §7, §11): the joint-punishment and watch lists, masked, without login."""
