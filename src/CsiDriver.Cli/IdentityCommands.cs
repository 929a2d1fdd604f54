using System.CommandLine;
using Csi.V1;

namespace CsiDriver.Cli;

public static class IdentityCommands
{
    public static Command Build() => new("identity", "Identity service calls.")
    {
        new Command("info", "GetPluginInfo.").WithCall(async (_, ch, o) =>
            await new Identity.IdentityClient(ch).GetPluginInfoAsync(new GetPluginInfoRequest(), o)),
        new Command("capabilities", "GetPluginCapabilities.").WithCall(async (_, ch, o) =>
            await new Identity.IdentityClient(ch).GetPluginCapabilitiesAsync(new GetPluginCapabilitiesRequest(), o)),
        new Command("probe", "Probe.").WithCall(async (_, ch, o) =>
            await new Identity.IdentityClient(ch).ProbeAsync(new ProbeRequest(), o)),
    };
}
