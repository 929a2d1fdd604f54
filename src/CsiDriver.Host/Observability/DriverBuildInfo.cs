using System.Diagnostics.Metrics;
using System.Reflection;
using CsiDriver.Core;
using CsiDriver.Core.Observability;

namespace CsiDriver.Host.Observability;

/// <summary>csidriver_build_info: a constant 1 labelled with what runs here, so dashboards can tell versions and modes apart.</summary>
public sealed class DriverBuildInfo
{
    public DriverBuildInfo(DriverMetrics metrics, DriverOptions? options)
    {
        if (options is null)
        {
            return;
        }
        var version = typeof(DriverBuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
        KeyValuePair<string, object?>[] labels =
        [
            new("version", version),
            new("driver", options.DriverName),
            new("mode", options.Mode.ToString().ToLowerInvariant()),
            new("backend", options.Backend.ToString().ToLowerInvariant()),
        ];
        metrics.Meter.CreateObservableGauge("build_info", () => new Measurement<int>(1, labels),
            description: "Driver version, name, mode and backend of this process (value is always 1).");
    }
}
