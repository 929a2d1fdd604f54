using System.CommandLine;
using CsiDriver.Cli;

// csictl: call any CSI RPC on a unix socket and print the response as JSON.
// Exit codes: 0 success, 1 the driver returned an error status, 2 bad command-line input.
var root = new RootCommand("csictl: call CSI RPCs on a driver's unix socket and print the result as JSON.")
{
    IdentityCommands.Build(),
    ControllerCommands.Build(),
    NodeCommands.Build(),
};
root.Options.Add(CommonOptions.Endpoint);
root.Options.Add(CommonOptions.Timeout);
return await root.Parse(args).InvokeAsync();
