using System.Globalization;
using System.Text;

namespace CsiDriver.Host.Observability;

/// <summary>
/// Writes metric families in the Prometheus text exposition format 0.0.4: a HELP and a TYPE line per family,
/// then one line per sample; label values escaped; histograms as cumulative _bucket{le=...} lines ending with
/// le="+Inf", then _sum and _count. Families are written sorted by name and series by label values,
/// so a scrape is stable. Families without series are left out.
/// </summary>
public static class PrometheusTextWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Write(IEnumerable<MetricFamily> families)
    {
        var text = new StringBuilder();
        Write(text, families);
        return text.ToString();
    }

    public static void Write(StringBuilder output, IEnumerable<MetricFamily> families)
    {
        foreach (var family in families.OrderBy(f => SanitizeMetricName(f.Name), StringComparer.Ordinal))
        {
            if (family.Series.Count == 0)
            {
                continue;
            }
            var name = SanitizeMetricName(family.Name);
            output.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(family.Help)).Append('\n');
            output.Append("# TYPE ").Append(name).Append(' ').Append(TypeName(family.Type)).Append('\n');
            foreach (var series in family.Series.OrderBy(s => SeriesKey(s.Labels), StringComparer.Ordinal))
            {
                var labels = NormalizeLabels(series.Labels);
                if (family.Type == MetricType.Histogram)
                {
                    WriteHistogram(output, name, labels, series.Histogram ?? throw new ArgumentException($"histogram {name} has a series without histogram data"));
                }
                else
                {
                    WriteSample(output, name, labels, null, FormatValue(series.Value));
                }
            }
        }
    }

    private static void WriteHistogram(StringBuilder output, string name, IReadOnlyList<KeyValuePair<string, string>> labels, HistogramSnapshot histogram)
    {
        if (histogram.BucketCounts.Count != histogram.UpperBounds.Count + 1)
        {
            throw new ArgumentException($"histogram {name}: {histogram.UpperBounds.Count} bounds need {histogram.UpperBounds.Count + 1} bucket counts");
        }
        long cumulative = 0;
        for (var i = 0; i < histogram.UpperBounds.Count; i++)
        {
            cumulative += histogram.BucketCounts[i];
            WriteSample(output, name + "_bucket", labels, FormatValue(histogram.UpperBounds[i]), cumulative.ToString(CultureInfo.InvariantCulture));
        }
        // The +Inf bucket is the count by definition; writing Count keeps the two equal even if a bucket
        // and the count were read a moment apart.
        WriteSample(output, name + "_bucket", labels, "+Inf", histogram.Count.ToString(CultureInfo.InvariantCulture));
        WriteSample(output, name + "_sum", labels, null, FormatValue(histogram.Sum));
        WriteSample(output, name + "_count", labels, null, histogram.Count.ToString(CultureInfo.InvariantCulture));
    }

    private static void WriteSample(StringBuilder output, string name, IReadOnlyList<KeyValuePair<string, string>> labels, string? le, string value)
    {
        output.Append(name);
        if (labels.Count > 0 || le is not null)
        {
            output.Append('{');
            var first = true;
            foreach (var (key, labelValue) in labels)
            {
                if (!first)
                {
                    output.Append(',');
                }
                first = false;
                output.Append(key).Append("=\"").Append(EscapeLabelValue(labelValue)).Append('"');
            }
            if (le is not null)
            {
                if (!first)
                {
                    output.Append(',');
                }
                output.Append("le=\"").Append(le).Append('"');
            }
            output.Append('}');
        }
        output.Append(' ').Append(value).Append('\n');
    }

    /// <summary>Go-compatible float text: +Inf, -Inf, NaN, otherwise the shortest round-trip form.</summary>
    public static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>Label values escape backslash, double quote and line feed.</summary>
    public static string EscapeLabelValue(string value)
    {
        if (value.AsSpan().IndexOfAny("\\\"\n") < 0)
        {
            return value;
        }
        var escaped = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            escaped.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                _ => c.ToString(),
            });
        }
        return escaped.ToString();
    }

    /// <summary>HELP text escapes backslash and line feed (quotes stay as they are).</summary>
    public static string EscapeHelp(string help) =>
        help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*; anything else becomes '_'.</summary>
    public static string SanitizeMetricName(string name) => Sanitize(name, allowColon: true);

    /// <summary>Label names match [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__" (reserved).</summary>
    public static string SanitizeLabelName(string name)
    {
        var sanitized = Sanitize(name, allowColon: false);
        return sanitized.StartsWith("__", StringComparison.Ordinal) ? "x" + sanitized[1..] : sanitized;
    }

    private static string Sanitize(string name, bool allowColon)
    {
        // A leading digit is not allowed; prefixing keeps it readable instead of losing it.
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            name = "_" + name;
        }
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':')))
            {
                chars[i] = '_';
            }
        }
        return new string(chars);
    }

    private static string TypeName(MetricType type) => type switch
    {
        MetricType.Counter => "counter",
        MetricType.Gauge => "gauge",
        MetricType.Histogram => "histogram",
        _ => "untyped",
    };

    /// <summary>Sanitized names, sorted by name; "le" is reserved for histogram buckets and renamed.</summary>
    private static List<KeyValuePair<string, string>> NormalizeLabels(IReadOnlyList<KeyValuePair<string, string>> labels) =>
        labels.Select(l => new KeyValuePair<string, string>(SanitizeLabelName(l.Key) is "le" ? "le_" : SanitizeLabelName(l.Key), l.Value))
              .OrderBy(l => l.Key, StringComparer.Ordinal)
              .ToList();

    private static string SeriesKey(IReadOnlyList<KeyValuePair<string, string>> labels) =>
        string.Join('\u0001', NormalizeLabels(labels).Select(l => l.Key + '\u0002' + l.Value));
}
