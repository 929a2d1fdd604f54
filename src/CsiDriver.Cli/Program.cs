// TODO(issue 2): csictl commands.
return 0;
