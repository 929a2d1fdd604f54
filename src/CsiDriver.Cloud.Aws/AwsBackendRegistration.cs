using CsiDriver.Core;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Cloud.Aws;

/// <summary>Wires the AWS backend: EC2 provider, NVMe/Xen device finder, instance metadata.</summary>
public static class AwsBackendRegistration
{
    public static IServiceCollection AddAwsBackend(this IServiceCollection services, AwsBackendOptions options, DriverOptions driverOptions)
    {
        services.AddSingleton(options);
        // TODO(issue 3): the EC2 backend.
        throw new NotSupportedException("the aws backend is not available in this build yet; use --backend local");
    }
}
