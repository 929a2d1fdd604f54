using CsiDriver.Core;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Observability;
using CsiDriver.Driver.Controller;
using CsiDriver.Driver.GroupController;
using CsiDriver.Driver.Grpc;
using CsiDriver.Driver.Identity;
using CsiDriver.Driver.Node;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Driver;

/// <summary>Registers and maps the CSI gRPC services for the configured mode.</summary>
public static class CsiServiceRegistration
{
    public static IServiceCollection AddCsiServices(this IServiceCollection services, DriverOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<DriverMetrics>();
        services.AddSingleton<OperationLocks>();
        services.AddSingleton<IReadinessCheck, BackendReadinessCheck>();
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<CsiCallInterceptor>();
            grpc.EnableDetailedErrors = false;
        });
        return services;
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
