using CsiDriver.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CsiDriver.Kubernetes;

/// <summary>Wires the Node API (only inside a cluster) and, on nodes, the startup taint removal.</summary>
public static class KubernetesRegistration
{
    /// <param name="runsNode">Whether this process serves the node plugin (which removes the startup taint).</param>
    public static IServiceCollection AddKubernetesNodeApi(this IServiceCollection services, bool runsNode)
    {
        if (KubernetesApiOptions.FromEnvironment() is { } api)
        {
            services.AddKubernetesNodeApi(api);
        }
        services.AddValidatedOptions<NodeTaintRemoverOptions, NodeTaintRemoverOptionsValidator>(new NodeTaintRemoverOptions());
        if (runsNode)
        {
            // Registered regardless: without an IKubernetesNodeApi (not in a cluster) it does nothing.
            services.AddSingleton<NodeTaintRemover>();
            services.AddHostedService(sp => sp.GetRequiredService<NodeTaintRemover>());
        }
        return services;
    }

    /// <summary>The Node API at <paramref name="api"/> (in a pod: <see cref="KubernetesApiOptions.FromEnvironment"/>; tests: a fake server).</summary>
    public static IServiceCollection AddKubernetesNodeApi(this IServiceCollection services, KubernetesApiOptions api)
    {
        services.AddValidatedOptions<KubernetesApiOptions, KubernetesApiOptionsValidator>(api);
        services.TryAddSingleton<IKubernetesNodeApi, InClusterKubernetesNodeApi>();
        return services;
    }
}
