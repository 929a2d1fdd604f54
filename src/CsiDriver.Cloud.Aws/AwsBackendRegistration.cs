using Amazon.EC2;
using CsiDriver.Cloud.Aws.Attachments;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Metadata;
using CsiDriver.Cloud.Aws.Node;
using CsiDriver.Cloud.Aws.Snapshots;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core;
using CsiDriver.Core.Node;
using CsiDriver.Core.Observability;
using CsiDriver.Core.Volumes;
using CsiDriver.Kubernetes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws;

/// <summary>Wires the AWS backend: EC2 provider, NVMe/Xen device finder, instance metadata.</summary>
public static class AwsBackendRegistration
{
    public static IServiceCollection AddAwsBackend(this IServiceCollection services, AwsBackendOptions options, DriverOptions driverOptions)
    {
        services.AddSingleton(options);
        services.AddSingleton(options.Tuning);

        // Instance metadata: flags, IMDSv2, the Kubernetes Node object (only when an IKubernetesNodeApi is registered).
        // IMDS is link-local: never through an HTTP(S)_PROXY from the pod's environment.
        services.AddSingleton(sp => new ImdsClient(new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri(options.Tuning.ImdsEndpoint),
            // Off EC2 (or with IMDS blocked) fail fast and fall back to the next source.
            Timeout = TimeSpan.FromSeconds(3),
        }));
        services.AddSingleton<IInstanceMetadataProvider>(sp => new InstanceMetadataResolver(
            options,
            driverOptions,
            sp.GetRequiredService<ImdsClient>(),
            sp.GetService<IKubernetesNodeApi>() is { } api ? new KubernetesNodeMetadata(api) : null,
            sp.GetRequiredService<ILogger<InstanceMetadataResolver>>()));

        // EC2: built on first use, so a node-only driver never needs EC2 and the region may come from metadata.
        // Tests and the benchmark replace Ec2Clients (e.g. Ec2Clients.Shared(client)) to compare clients.
        services.AddSingleton(sp =>
        {
            var region = Ec2ClientFactory.ResolveRegion(options, Environment.GetEnvironmentVariable);
            if (region is null)
            {
                var metadata = sp.GetRequiredService<IInstanceMetadataProvider>();
                region = Task.Run(() => metadata.GetAsync(CancellationToken.None)).GetAwaiter().GetResult().Region;
            }
            return new AwsHomeRegion(region);
        });
        services.AddSingleton(sp =>
        {
            var region = sp.GetRequiredService<AwsHomeRegion>().Name;
            var endpoint = Ec2ClientFactory.ResolveEndpoint(options, Environment.GetEnvironmentVariable);
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("CsiDriver.Cloud.Aws")
                .LogInformation("EC2 clients for region {Region}, endpoint {Endpoint}", region, endpoint ?? "(regional)");
            return new Ec2Clients(() => Ec2ClientFactory.Create(region, endpoint, options.Credentials, options.RetryMode));
        });
        // Other regions (snapshot copies): their own clients, built on first use.
        services.AddSingleton<RegionalEc2>();
        services.AddSingleton<SnapshotCopier>();
        services.AddSingleton<IAmazonEC2>(sp => sp.GetRequiredService<Ec2Clients>().For("Describe"));
        services.AddSingleton(_ => options.PaceCalls ? new Ec2CallPacer(Ec2CallPacer.Ec2Defaults) : Ec2CallPacer.None);
        services.AddSingleton(sp => new Ec2Caller(
            sp.GetRequiredService<Ec2Clients>(), sp.GetRequiredService<Ec2CallPacer>(),
            sp.GetRequiredService<DriverMetrics>(), sp.GetRequiredService<ILogger<Ec2Caller>>()));
        services.AddSingleton(sp => new Ec2Pollers(
            sp.GetRequiredService<Ec2Caller>(), options.Tuning, sp.GetRequiredService<DriverMetrics>(), sp.GetRequiredService<ILogger<Ec2Pollers>>()));
        services.AddSingleton<DeviceNameAllocator>();
        services.AddSingleton<AttachmentManager>();
        services.AddSingleton<SnapshotManager>();
        services.AddSingleton<GroupSnapshotManager>();
        services.AddSingleton<IGroupSnapshotProvider>(sp => sp.GetRequiredService<GroupSnapshotManager>());
        services.AddSingleton<ModificationCoalescer>();
        services.AddSingleton<EbsVolumeProvider>();
        services.AddSingleton<IVolumeProvider>(sp => sp.GetRequiredService<EbsVolumeProvider>());

        // Node side.
        services.AddSingleton<EbsDeviceFinder>();
        services.AddSingleton<IDeviceFinder>(sp => sp.GetRequiredService<EbsDeviceFinder>());
        services.AddSingleton<INodeIdentityProvider, AwsNodeIdentityProvider>();
        return services;
    }
}
