namespace CsiDriver.Host.Observability;

public enum MetricType
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>One metric family as exposed: a name, its help and type, and one series per label set.</summary>
public sealed record MetricFamily(string Name, string Help, MetricType Type, IReadOnlyList<MetricSeries> Series);

/// <summary>
/// One series of a family. Counters and gauges use <see cref="Value"/>; histograms use <see cref="Histogram"/>.
/// </summary>
public sealed record MetricSeries(IReadOnlyList<KeyValuePair<string, string>> Labels, double Value, HistogramSnapshot? Histogram = null);

/// <summary>
/// A histogram's state. BucketCounts are per bucket (not cumulative): BucketCounts[i] counts observations
/// in (UpperBounds[i-1], UpperBounds[i]]; the extra last element counts those above the last bound.
/// </summary>
public sealed record HistogramSnapshot(IReadOnlyList<double> UpperBounds, IReadOnlyList<long> BucketCounts, double Sum, long Count);
