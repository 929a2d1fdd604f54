using CsiDriver.Core;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Node;
using CsiDriver.Core.Observability;
using CsiDriver.Driver.Controller;
using CsiDriver.Driver.GroupController;
using CsiDriver.Driver.Grpc;
using CsiDriver.Driver.Identity;
using CsiDriver.Driver.Node;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CsiDriver.Driver;

/// <summary>Registers and maps the CSI gRPC services for the configured mode.</summary>
public static class CsiServiceRegistration
{
    /// <summary>
    /// The CSI services for <paramref name="options"/>' mode. The services read the options as
    /// <c>IOptions&lt;DriverOptions&gt;</c>, which the host registers (AddDriverOptions).
    /// </summary>
    public static IServiceCollection AddCsiServices(this IServiceCollection services, DriverOptions options)
    {
        services.AddSingleton<DriverMetrics>();
        services.AddSingleton<OperationLocks>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<CallActivity>();
        services.AddSingleton<IReadinessCheck, BackendReadinessCheck>();
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<CsiCallInterceptor>();
            grpc.EnableDetailedErrors = false;
        });
        if (options.RunsNode)
        {
            services.AddNodeServices();
        }
        return services;
    }

    /// <summary>
    /// The node service and the parts it delegates to. Stateless singletons: gRPC takes NodeService from the
    /// container instead of building it, and its collaborators, per call. Needs the node OS services
    /// (AddNodeOs), an IDeviceFinder and an INodeIdentityProvider from the backend.
    /// </summary>
    private static void AddNodeServices(this IServiceCollection services)
    {
        services.TryAddSingleton<NodeTargets>();
        services.TryAddSingleton<NodeVolumeRecords>();
        services.TryAddSingleton<VolumeMountIdentity>();
        services.TryAddSingleton<NodePathConfinement>();
        services.TryAddSingleton<VolumeStager>();
        services.TryAddSingleton<VolumePublisher>();
        services.TryAddSingleton<VolumeExpander>();
        services.TryAddSingleton<VolumeStatsReader>();
        // Built by hand: its constructor is internal (it takes internal types), which the container does not call.
        services.TryAddSingleton(sp => new NodeService(
            sp.GetRequiredService<INodeIdentityProvider>(),
            sp.GetRequiredService<OperationLocks>(),
            sp.GetRequiredService<IOptions<DriverOptions>>(),
            sp.GetRequiredService<NodePathConfinement>(),
            sp.GetRequiredService<VolumeStager>(),
            sp.GetRequiredService<VolumePublisher>(),
            sp.GetRequiredService<VolumeExpander>(),
            sp.GetRequiredService<VolumeStatsReader>()));
    }

    public static IEndpointRouteBuilder MapCsiServices(this IEndpointRouteBuilder endpoints, DriverOptions options)
    {
        endpoints.MapGrpcService<IdentityService>();
        if (options.RunsController)
        {
            endpoints.MapGrpcService<ControllerService>();
            endpoints.MapGrpcService<GroupControllerService>();
        }
        if (options.RunsNode)
        {
            endpoints.MapGrpcService<NodeService>();
        }
        return endpoints;
    }
}
