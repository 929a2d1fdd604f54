using CsiDriver.Cloud.Aws;
using CsiDriver.Cloud.Local;
using CsiDriver.Core;
using CsiDriver.Driver;
using CsiDriver.Host.Observability;
using CsiDriver.Kubernetes;
using CsiDriver.Mounter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Host;

/// <summary>Everything the driver process is configured with, validated before anything starts.</summary>
public sealed record DriverConfiguration(DriverOptions Driver, LocalBackendOptions Local, AwsBackendOptions Aws)
{
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>(Driver.Validate());
        errors.AddRange(Driver.Backend == BackendKind.Local ? Local.Validate() : Aws.Validate());
        return errors;
    }
}

/// <summary>Builds the driver's web application: CSI services on the unix socket, backend, node OS layer.</summary>
public static class DriverHost
{
    /// <summary>How long a CSI client's connection may stay idle before the server closes it: in effect never.</summary>
    public static readonly TimeSpan IdleConnectionTimeout = TimeSpan.FromDays(365);

    public static WebApplication Build(
        DriverConfiguration configuration,
        Action<ILoggingBuilder>? configureLogging = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var errors = configuration.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, errors));
        }
        var options = configuration.Driver;

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        ConfigureLogging(builder.Logging, options);
        configureLogging?.Invoke(builder.Logging);

        // In-flight calls get this long to finish after SIGTERM.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        SocketEndpoint.Prepare(options.SocketPath);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenUnixSocket(options.SocketPath, listen => listen.Protocols = HttpProtocols.Http2);
            // The sidecars and kubelet hold one gRPC connection for their lifetime and exit when it drops
            // (csi-lib-utils: "Lost connection to CSI driver, exiting"). Kestrel's default closes a connection idle
            // for 130 s, which killed a csi-snapshotter that had nothing to do for two minutes. A year, not
            // Timeout.InfiniteTimeSpan: Kestrel's HTTP/2 path adds the timeout to a timestamp, and TimeSpan.MaxValue
            // overflowed into closing every connection within seconds (seen in the e2e).
            kestrel.Limits.KeepAliveTimeout = IdleConnectionTimeout;
        });

        builder.Services.AddCsiServices(options);
        builder.Services.AddNodeOs();
        switch (options.Backend)
        {
            case BackendKind.Local:
                builder.Services.AddLocalBackend(configuration.Local);
                break;
            case BackendKind.Aws:
                builder.Services.AddAwsBackend(configuration.Aws, options);
                break;
        }
        builder.AddObservability(options);
        builder.Services.AddKubernetesNodeApi(options);

        // Tests replace services here (a fake provider, a test device finder); the last registration wins.
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapObservability(options);
        app.MapCsiServices(options);
        app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation(
            "csi-driver {Version} serving {DriverName} on {Endpoint}: mode {Mode}, backend {Backend}, node {NodeId}",
            typeof(DriverHost).Assembly.GetName().Version, options.DriverName, options.Endpoint, options.Mode, options.Backend,
            options.NodeId ?? "(backend default)"));
        app.Lifetime.ApplicationStopped.Register(() => TryDelete(options.SocketPath));
        return app;
    }

    private static void ConfigureLogging(ILoggingBuilder logging, DriverOptions options)
    {
        logging.ClearProviders();
        if (options.LogFormat == LogFormat.Json)
        {
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.IncludeScopes = false;
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.IncludeScopes = false;
            });
        }
        logging.SetMinimumLevel(Enum.Parse<LogLevel>(options.LogLevel, ignoreCase: true));
        // Framework request logs would repeat our own per-RPC line.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Grpc", LogLevel.Warning);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
