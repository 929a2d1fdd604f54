using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Reflection;
using CsiDriver.Core;
using CsiDriver.Core.Observability;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Host.Observability;

/// <summary>
/// Aggregates the driver's own "CsiDriver" meter (this process's <see cref="DriverMetrics"/> instance only, so two
/// drivers in one test process never mix) into Prometheus families: counters as totals, up-down counters and
/// gauges as gauges, histograms into fixed buckets. Observable instruments are read at scrape time.
/// </summary>
public sealed class MetricsCollector : IDisposable
{
    public const string Prefix = "csidriver_";

    /// <summary>Latency in seconds: from a fast local call to a slow attach or snapshot (minutes).</summary>
    public static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    /// <summary>Counts such as waiters served per Describe call (EC2 filters take up to a few hundred ids).</summary>
    public static readonly double[] SizeBuckets = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500];

    private readonly Meter _meter;
    private readonly ILogger<MetricsCollector> _logger;
    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<Instrument, InstrumentAggregator> _instruments = new();
    private readonly Lock _collectLock = new();
    private readonly MetricFamily? _buildInfo;

    public MetricsCollector(DriverMetrics metrics, ILogger<MetricsCollector> logger, DriverOptions? options = null)
    {
        _meter = metrics.Meter;
        _buildInfo = options is null ? null : BuildInfo(options);
        _logger = logger;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (!ReferenceEquals(instrument.Meter, _meter))
                {
                    return;
                }
                var aggregator = InstrumentAggregator.Create(instrument);
                if (aggregator is not null && _instruments.TryAdd(instrument, aggregator))
                {
                    listener.EnableMeasurementEvents(instrument, aggregator);
                }
            },
            MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out InstrumentAggregator? _),
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>((_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>((_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>((_, value, tags, state) => ((InstrumentAggregator)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>((_, value, tags, state) => ((InstrumentAggregator)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>Reads observable instruments, then returns every family with its current series.</summary>
    public IReadOnlyList<MetricFamily> Collect()
    {
        lock (_collectLock)
        {
            foreach (var aggregator in _instruments.Values)
            {
                aggregator.BeginObservation();
            }
            try
            {
                _listener.RecordObservableInstruments();
            }
            catch (Exception ex)
            {
                // A failing gauge callback must not take the whole scrape down.
                _logger.LogWarning(ex, "reading an observable metric failed");
            }
            var families = _instruments.Values.Select(a => a.Snapshot()).ToList();
            if (_buildInfo is not null)
            {
                families.Add(_buildInfo);
            }
            return families;
        }
    }

    /// <summary>A constant 1 labelled with what runs here, so dashboards can tell versions and modes apart.</summary>
    private static MetricFamily BuildInfo(DriverOptions options)
    {
        var version = typeof(MetricsCollector).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
        KeyValuePair<string, string>[] labels =
        [
            new("version", version),
            new("driver", options.DriverName),
            new("mode", options.Mode.ToString().ToLowerInvariant()),
            new("backend", options.Backend.ToString().ToLowerInvariant()),
        ];
        return new MetricFamily(Prefix + "build_info", "Driver version, name, mode and backend of this process (value is always 1).", MetricType.Gauge, [new MetricSeries(labels, 1)]);
    }

    /// <summary>The whole scrape in Prometheus text format.</summary>
    public string Scrape() => PrometheusTextWriter.Write(Collect());

    public void Dispose() => _listener.Dispose();

    /// <summary>The Prometheus name of an instrument: prefixed, sanitized, counters ending in _total.</summary>
    public static string PrometheusName(string instrumentName, MetricType type)
    {
        var name = PrometheusTextWriter.SanitizeMetricName(Prefix + instrumentName.Replace('.', '_'));
        return type == MetricType.Counter && !name.EndsWith("_total", StringComparison.Ordinal) ? name + "_total" : name;
    }

    private enum Aggregation
    {
        /// <summary>Measurements are increments (Counter, UpDownCounter).</summary>
        Sum,
        /// <summary>Each measurement replaces the value (gauges, observable counters reporting totals).</summary>
        LastValue,
        Histogram,
    }

    /// <summary>State for one instrument: one series per distinct label set.</summary>
    private sealed class InstrumentAggregator
    {
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly string _name;
        private readonly string _help;
        private readonly MetricType _type;
        private readonly Aggregation _aggregation;
        private readonly bool _observable;
        private readonly double[] _bounds;

        private InstrumentAggregator(Instrument instrument, MetricType type, Aggregation aggregation, double[] bounds)
        {
            _type = type;
            _aggregation = aggregation;
            _observable = instrument.IsObservable;
            _bounds = bounds;
            _name = PrometheusName(instrument.Name, type);
            _help = string.IsNullOrWhiteSpace(instrument.Description) ? instrument.Name : instrument.Description;
        }

        public static InstrumentAggregator? Create(Instrument instrument)
        {
            var kind = instrument.GetType().IsGenericType ? instrument.GetType().GetGenericTypeDefinition() : instrument.GetType();
            if (kind == typeof(Counter<>))
            {
                return new(instrument, MetricType.Counter, Aggregation.Sum, []);
            }
            if (kind == typeof(ObservableCounter<>))
            {
                return new(instrument, MetricType.Counter, Aggregation.LastValue, []);
            }
            if (kind == typeof(UpDownCounter<>))
            {
                return new(instrument, MetricType.Gauge, Aggregation.Sum, []);
            }
            if (kind == typeof(ObservableUpDownCounter<>) || kind == typeof(ObservableGauge<>) || kind == typeof(Gauge<>))
            {
                return new(instrument, MetricType.Gauge, Aggregation.LastValue, []);
            }
            if (kind == typeof(Histogram<>))
            {
                return new(instrument, MetricType.Histogram, Aggregation.Histogram, BucketsFor(instrument));
            }
            return null;
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

        public void BeginObservation()
        {
            if (_observable)
            {
                // Observable series are whatever the callbacks report now; stale label sets disappear.
                _series.Clear();
            }
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = Labels(tags);
            var key = string.Join('\u0001', labels.Select(l => l.Key + '\u0002' + l.Value));
            var series = _series.GetOrAdd(key, static (_, state) => new Series(state.labels, state.bounds), (labels, bounds: _bounds));
            series.Record(value, _aggregation, _bounds);
        }

        public MetricFamily Snapshot() =>
            new(_name, _help, _type, _series.Values.Select(s => s.Snapshot(_aggregation, _bounds)).ToList());

        private static List<KeyValuePair<string, string>> Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = new List<KeyValuePair<string, string>>(tags.Length);
            foreach (var (key, value) in tags)
            {
                labels.Add(new(key, LabelText(value)));
            }
            labels.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            return labels;
        }

        private static string LabelText(object? value) => value switch
        {
            null => string.Empty,
            string s => s,
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        };
    }

    private sealed class Series(IReadOnlyList<KeyValuePair<string, string>> labels, double[] bounds)
    {
        private readonly Lock _lock = new();
        private readonly long[] _buckets = new long[bounds.Length + 1];
        private double _value;
        private double _sum;
        private long _count;

        public void Record(double value, Aggregation aggregation, double[] bounds)
        {
            lock (_lock)
            {
                switch (aggregation)
                {
                    case Aggregation.Sum:
                        _value += value;
                        break;
                    case Aggregation.LastValue:
                        _value = value;
                        break;
                    case Aggregation.Histogram:
                        // Bucket i holds values in (bounds[i-1], bounds[i]]: "le" is inclusive.
                        var index = Array.BinarySearch(bounds, value);
                        _buckets[index >= 0 ? index : ~index]++;
                        _sum += value;
                        _count++;
                        break;
                }
            }
        }

        public MetricSeries Snapshot(Aggregation aggregation, double[] bounds)
        {
            lock (_lock)
            {
                return aggregation == Aggregation.Histogram
                    ? new MetricSeries(labels, 0, new HistogramSnapshot(bounds, (long[])_buckets.Clone(), _sum, _count))
                    : new MetricSeries(labels, _value);
            }
        }
    }
}
