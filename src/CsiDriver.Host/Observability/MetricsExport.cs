using System.Diagnostics.Metrics;
using CsiDriver.Core;
using CsiDriver.Core.Observability;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using Microsoft.Extensions.Options;

namespace CsiDriver.Host.Observability;

/// <summary>
/// Exports the driver's own meter (<see cref="DriverMetrics"/>: this container's instance only, so two drivers in
/// one test process never mix) through OpenTelemetry's Prometheus exporter. Views keep the documented names
/// (prefix csidriver_, counters ending in _total) and histogram buckets; scope and target labels are left out so
/// the series carry exactly the documented labels.
/// </summary>
public static class MetricsExport
{
    public const string Prefix = "csidriver_";

    /// <summary>Latency in seconds: from a fast local call to a slow attach or snapshot (minutes).</summary>
    public static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    /// <summary>Counts such as waiters served per Describe call (EC2 filters take up to a few hundred ids).</summary>
    public static readonly double[] SizeBuckets = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500];

    /// <summary>
    /// Series per metric the exporter reserves up front (OpenTelemetry's default is 2000). The widest family, RPCs by
    /// method and code, has fewer than 30 methods × 17 codes; beyond the limit series fold into one overflow series.
    /// </summary>
    public const int CardinalityLimit = 600;

    /// <param name="describeDriver">Export csidriver_build_info from the registered <see cref="DriverOptions"/>.</param>
    public static IServiceCollection AddDriverMetricsExport(this IServiceCollection services, bool describeDriver = false)
    {
        services.AddSingleton(sp => new DriverBuildInfo(
            sp.GetRequiredService<DriverMetrics>(), describeDriver ? sp.GetRequiredService<IOptions<DriverOptions>>().Value : null));
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(DriverMetrics.MeterName)
            .AddPrometheusExporter(exporter =>
            {
                exporter.ScopeInfoEnabled = false;
                exporter.TargetInfoEnabled = false;
                // Every scrape reads the instruments now (gauges such as loop devices in use are read at scrape time).
                exporter.ScrapeResponseCacheDurationMilliseconds = 0;
            }));
        services.ConfigureOpenTelemetryMeterProvider((sp, builder) =>
        {
            var ours = sp.GetRequiredService<DriverMetrics>().Meter;
            sp.GetRequiredService<DriverBuildInfo>();
            builder.AddView(instrument => ReferenceEquals(instrument.Meter, ours) ? StreamFor(instrument) : MetricStreamConfiguration.Drop);
        });
        return services;
    }

    /// <summary>The exported stream of one instrument: its prefixed name, and fixed buckets for histograms.</summary>
    private static MetricStreamConfiguration StreamFor(Instrument instrument)
    {
        var name = Prefix + instrument.Name;
        return instrument is Histogram<double> or Histogram<long> or Histogram<int>
            ? new ExplicitBucketHistogramConfiguration { Name = name, Boundaries = BucketsFor(instrument), CardinalityLimit = CardinalityLimit }
            : new MetricStreamConfiguration { Name = name, CardinalityLimit = CardinalityLimit };
    }

    /// <summary>Bounds the instrument advises, else seconds buckets for durations and size buckets for the rest.</summary>
    private static double[] BucketsFor(Instrument instrument)
    {
        var advised = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray(),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            _ => null,
        };
        if (advised is { Length: > 0 })
        {
            return advised.Order().Distinct().ToArray();
        }
        var isDuration = instrument.Unit is "s" || instrument.Name.EndsWith("_seconds", StringComparison.Ordinal) || instrument.Name.EndsWith(".duration", StringComparison.Ordinal);
        return isDuration ? SecondsBuckets : SizeBuckets;
    }
}
