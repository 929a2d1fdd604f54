using Amazon.EC2;
using CsiDriver.Cloud.Aws.Attachments;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Metadata;
using CsiDriver.Cloud.Aws.Node;
using CsiDriver.Cloud.Aws.Snapshots;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Node;
using CsiDriver.Core.Observability;
using CsiDriver.Core.Volumes;
using CsiDriver.Kubernetes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws;

/// <summary>
/// Wires the AWS backend: EC2 provider, NVMe/Xen device finder, instance metadata. Needs <see cref="DriverOptions"/>
/// registered (AddDriverOptions). Nothing here does I/O while the container builds a service: the region and node
/// metadata are resolved by <see cref="AwsStartup"/> when the host starts, and EC2 clients are built on first use.
/// </summary>
public static class AwsBackendRegistration
{
    public static IServiceCollection AddAwsBackend(this IServiceCollection services, AwsBackendOptions options)
    {
        services.AddValidatedOptions<AwsBackendOptions, AwsBackendOptionsValidator>(options);
        services.AddBackgroundLoops();

        // Instance metadata: flags, IMDSv2, the Kubernetes Node object (only when an IKubernetesNodeApi is registered).
        // IMDS is link-local: never through an HTTP(S)_PROXY from the pod's environment.
        services.AddSingleton(sp => new ImdsClient(new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri(Aws(sp).Tuning.ImdsEndpoint),
            // Off EC2 (or with IMDS blocked) fail fast and fall back to the next source.
            Timeout = TimeSpan.FromSeconds(3),
        }));
        services.AddSingleton<IInstanceMetadataProvider>(sp => new InstanceMetadataResolver(
            sp.GetRequiredService<IOptions<AwsBackendOptions>>(),
            sp.GetRequiredService<IOptions<DriverOptions>>(),
            sp.GetRequiredService<ImdsClient>(),
            sp.GetService<IKubernetesNodeApi>() is { } api ? new KubernetesNodeMetadata(api) : null,
            sp.GetRequiredService<ILogger<InstanceMetadataResolver>>()));

        // The region: from flags or the environment now (no I/O), else from instance metadata in AwsStartup.
        services.AddSingleton(sp => new AwsHomeRegion(Ec2ClientFactory.ResolveRegion(Aws(sp), Environment.GetEnvironmentVariable)));
        services.AddHostedService<AwsStartup>();

        // EC2: built on first use, so a node-only driver never needs EC2.
        // Tests and the benchmark replace Ec2Clients (e.g. Ec2Clients.Shared(client)) to compare clients.
        services.AddSingleton(sp =>
        {
            var aws = Aws(sp);
            var region = sp.GetRequiredService<AwsHomeRegion>().Name;
            var endpoint = Ec2ClientFactory.ResolveEndpoint(aws, Environment.GetEnvironmentVariable);
            AwsBackendLog.Ec2ClientsCreated(sp.GetRequiredService<ILoggerFactory>().CreateLogger("CsiDriver.Cloud.Aws"), region, endpoint ?? "(regional)");
            return new Ec2Clients(() => Ec2ClientFactory.Create(region, endpoint, aws.Credentials, aws.RetryMode));
        });
        // Other regions (snapshot copies): their own clients, built on first use.
        services.AddSingleton<RegionalEc2>();
        services.AddSingleton<SnapshotCopier>();
        services.AddSingleton<IAmazonEC2>(sp => sp.GetRequiredService<Ec2Clients>().For("Describe"));
        services.AddSingleton(sp => Aws(sp).PaceCalls ? new Ec2CallPacer(Ec2CallPacer.Ec2Defaults) : Ec2CallPacer.None);
        services.AddSingleton(sp => new Ec2Caller(
            sp.GetRequiredService<Ec2Clients>(), sp.GetRequiredService<Ec2CallPacer>(),
            sp.GetRequiredService<DriverMetrics>(), sp.GetRequiredService<ILogger<Ec2Caller>>()));
        services.AddSingleton(sp => new Ec2Pollers(
            sp.GetRequiredService<Ec2Caller>(), Aws(sp).Tuning, sp.GetRequiredService<DriverMetrics>(), sp.GetRequiredService<ILogger<Ec2Pollers>>(),
            loops: sp.GetRequiredService<BackgroundLoops>()));
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

    private static AwsBackendOptions Aws(IServiceProvider services) => services.GetRequiredService<IOptions<AwsBackendOptions>>().Value;
}
