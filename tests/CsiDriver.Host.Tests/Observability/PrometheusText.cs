using System.Globalization;
using System.Text.RegularExpressions;

namespace CsiDriver.Host.Tests.Observability;

/// <summary>One parsed sample line.</summary>
public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : string.Empty;
}

/// <summary>
/// A strict reader of the text format 0.0.4, written from the format rules (not from the exporter): every line
/// is a HELP, a TYPE or a sample; each family has at most one HELP and one TYPE, the TYPE before its samples
/// (HELP is optional and may come either side of TYPE, as the format allows); label values are unescaped.
/// Anything else fails the test.
/// </summary>
public static partial class PrometheusText
{
    public static (IReadOnlyDictionary<string, string> Types, IReadOnlyList<Sample> Samples) Parse(string text)
    {
        Assert.EndsWith("\n", text);
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var helps = new HashSet<string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        foreach (var line in text[..^1].Split('\n'))
        {
            var help = HelpLine().Match(line);
            if (help.Success)
            {
                Assert.True(helps.Add(help.Groups[1].Value), $"second HELP for {help.Groups[1].Value}");
                continue;
            }
            var type = TypeLine().Match(line);
            if (type.Success)
            {
                Assert.True(types.TryAdd(type.Groups[1].Value, type.Groups[2].Value), $"second TYPE for {type.Groups[1].Value}");
                continue;
            }
            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"not a valid exposition line: '{line}'");
            var name = sample.Groups["name"].Value;
            var family = FamilyOf(name, types);
            Assert.True(family is not null, $"sample {name} has no TYPE line before it");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(sample.Groups["labels"].Value))
            {
                Assert.True(labels.TryAdd(label.Groups[1].Value, Unescape(label.Groups[2].Value)), $"label {label.Groups[1].Value} twice in '{line}'");
            }
            samples.Add(new Sample(name, labels, ParseValue(sample.Groups["value"].Value)));
        }
        return (types, samples);
    }

    private static string? FamilyOf(string sampleName, Dictionary<string, string> types)
    {
        if (types.ContainsKey(sampleName))
        {
            return sampleName;
        }
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal)
                && types.TryGetValue(sampleName[..^suffix.Length], out var type) && type == "histogram")
            {
                return sampleName[..^suffix.Length];
            }
        }
        return null;
    }

    public static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static string Unescape(string escaped) =>
        EscapeSequence().Replace(escaped, m => m.Value[1] switch { 'n' => "\n", '\\' => "\\", '"' => "\"", _ => throw new FormatException(m.Value) });

    [GeneratedRegex(@"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:[^\\\n]|\\\\|\\n)*$")]
    private static partial Regex HelpLine();

    [GeneratedRegex(@"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\\n]|\\[\\""n])*"")(?:,[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\\n]|\\[\\""n])*"")*)?\})? (?<value>\S+)$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\\n]|\\[\\""n])*)""")]
    private static partial Regex LabelPair();

    [GeneratedRegex(@"\\.")]
    private static partial Regex EscapeSequence();

    /// <summary>Histogram rules: per series, buckets non-decreasing in le order, +Inf present and equal to _count.</summary>
    public static void AssertHistogramInvariants(IReadOnlyDictionary<string, string> types, IReadOnlyList<Sample> samples)
    {
        foreach (var family in types.Where(t => t.Value == "histogram").Select(t => t.Key))
        {
            var buckets = samples.Where(s => s.Name == family + "_bucket").ToList();
            var counts = samples.Where(s => s.Name == family + "_count").ToList();
            Assert.Equal(counts.Count, samples.Count(s => s.Name == family + "_sum"));
            foreach (var count in counts)
            {
                var key = SeriesKey(count.Labels);
                var series = buckets.Where(b => SeriesKey(b.Labels.Where(l => l.Key != "le")) == key).ToList();
                Assert.NotEmpty(series);
                var bounds = series.Select(b => ParseValue(b.Label("le"))).ToList();
                Assert.Equal(bounds.Order().ToList(), bounds);
                Assert.True(double.IsPositiveInfinity(bounds[^1]), $"{family}{{{key}}} has no +Inf bucket");
                for (var i = 1; i < series.Count; i++)
                {
                    Assert.True(series[i].Value >= series[i - 1].Value, $"{family}{{{key}}} buckets decrease at le={series[i].Label("le")}");
                }
                Assert.Equal(count.Value, series[^1].Value);
            }
        }
    }

    private static string SeriesKey(IEnumerable<KeyValuePair<string, string>> labels) =>
        string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
}
