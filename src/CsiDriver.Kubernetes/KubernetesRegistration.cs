using CsiDriver.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CsiDriver.Kubernetes;

/// <summary>Wires the Node API (only inside a cluster) and, on nodes, the startup taint removal.</summary>
public static class KubernetesRegistration
{
    public static IServiceCollection AddKubernetesNodeApi(this IServiceCollection services, DriverOptions options)
    {
        var api = KubernetesApiOptions.FromEnvironment();
        if (api is not null)
        {
            services.TryAddSingleton(api);
            services.TryAddSingleton<IKubernetesNodeApi, InClusterKubernetesNodeApi>();
        }
        services.TryAddSingleton(new NodeTaintRemoverOptions());
        if (options.RunsNode)
        {
            // Registered regardless: without an IKubernetesNodeApi (not in a cluster) it does nothing.
            services.AddSingleton<NodeTaintRemover>();
            services.AddHostedService(sp => sp.GetRequiredService<NodeTaintRemover>());
        }
        return services;
    }
}
