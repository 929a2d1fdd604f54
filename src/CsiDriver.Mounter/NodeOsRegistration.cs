using CsiDriver.Mounter.Commands;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Mounter;

/// <summary>Wires the node OS layer: commands, mounts, formatting, resizing.</summary>
public static class NodeOsRegistration
{
    public static IServiceCollection AddNodeOs(this IServiceCollection services)
    {
        services.AddSingleton<ICommandRunner, ProcessCommandRunner>();
        // TODO(issue 2): mounter, formatter, resizer, stats.
        return services;
    }
}
