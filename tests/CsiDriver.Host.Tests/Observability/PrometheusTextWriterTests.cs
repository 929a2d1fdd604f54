using CsiDriver.Host.Observability;

namespace CsiDriver.Host.Tests.Observability;

public sealed class PrometheusTextWriterTests
{
    private static KeyValuePair<string, string> L(string name, string value) => new(name, value);

    [Fact]
    public void Counter_is_written_with_help_type_and_one_line_per_series()
    {
        var text = PrometheusTextWriter.Write(
        [
            new MetricFamily("csidriver_csi_rpc_requests_total", "CSI RPCs handled.", MetricType.Counter,
            [
                new MetricSeries([L("method", "Probe"), L("code", "OK")], 3),
                new MetricSeries([L("method", "CreateVolume"), L("code", "OK")], 1),
            ]),
        ]);

        Assert.Equal(
            "# HELP csidriver_csi_rpc_requests_total CSI RPCs handled.\n" +
            "# TYPE csidriver_csi_rpc_requests_total counter\n" +
            "csidriver_csi_rpc_requests_total{code=\"OK\",method=\"CreateVolume\"} 1\n" +
            "csidriver_csi_rpc_requests_total{code=\"OK\",method=\"Probe\"} 3\n",
            text);
    }

    [Fact]
    public void Label_values_escape_backslash_double_quote_and_newline()
    {
        var text = PrometheusTextWriter.Write(
        [
            new MetricFamily("m", "h", MetricType.Gauge, [new MetricSeries([L("path", "C:\\dir \"x\"\nnext")], 1)]),
        ]);

        Assert.Contains("m{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n", text);
        var (_, samples) = PrometheusText.Parse(text);
        Assert.Equal("C:\\dir \"x\"\nnext", Assert.Single(samples).Label("path"));
    }

    [Fact]
    public void Help_escapes_backslash_and_newline_but_not_quotes()
    {
        var text = PrometheusTextWriter.Write([new MetricFamily("m", "a \\ b\n\"c\"", MetricType.Gauge, [new MetricSeries([], 0)])]);

        Assert.StartsWith("# HELP m a \\\\ b\\n\"c\"\n", text);
    }

    [Fact]
    public void Series_without_labels_have_no_braces()
    {
        var text = PrometheusTextWriter.Write([new MetricFamily("csidriver_local_loop_devices_in_use", "Loop devices.", MetricType.Gauge, [new MetricSeries([], 4)])]);

        Assert.EndsWith("\ncsidriver_local_loop_devices_in_use 4\n", text);
    }

    [Fact]
    public void Histogram_buckets_are_cumulative_end_with_plus_inf_then_sum_and_count()
    {
        var histogram = new HistogramSnapshot([0.1, 1, 10], [2, 0, 3, 1], Sum: 27.5, Count: 6);
        var text = PrometheusTextWriter.Write(
        [
            new MetricFamily("op_seconds", "Latency.", MetricType.Histogram, [new MetricSeries([L("method", "X")], 0, histogram)]),
        ]);

        Assert.Equal(
            "# HELP op_seconds Latency.\n" +
            "# TYPE op_seconds histogram\n" +
            "op_seconds_bucket{method=\"X\",le=\"0.1\"} 2\n" +
            "op_seconds_bucket{method=\"X\",le=\"1\"} 2\n" +
            "op_seconds_bucket{method=\"X\",le=\"10\"} 5\n" +
            "op_seconds_bucket{method=\"X\",le=\"+Inf\"} 6\n" +
            "op_seconds_sum{method=\"X\"} 27.5\n" +
            "op_seconds_count{method=\"X\"} 6\n",
            text);
        var (types, samples) = PrometheusText.Parse(text);
        PrometheusText.AssertHistogramInvariants(types, samples);
    }

    [Fact]
    public void Histogram_without_labels_puts_only_le_in_braces()
    {
        var text = PrometheusTextWriter.Write(
            [new MetricFamily("h", "h", MetricType.Histogram, [new MetricSeries([], 0, new HistogramSnapshot([1], [0, 0], 0, 0))])]);

        Assert.Contains("h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n", text);
    }

    [Fact]
    public void Histogram_with_mismatched_bucket_counts_is_rejected()
    {
        var bad = new MetricFamily("h", "h", MetricType.Histogram, [new MetricSeries([], 0, new HistogramSnapshot([1, 2], [1, 1], 2, 2))]);

        Assert.Throws<ArgumentException>(() => PrometheusTextWriter.Write([bad]));
    }

    [Fact]
    public void Families_are_sorted_by_name_series_by_labels_and_empty_families_left_out()
    {
        var text = PrometheusTextWriter.Write(
        [
            new MetricFamily("zeta", "z", MetricType.Gauge, [new MetricSeries([L("a", "2")], 1), new MetricSeries([L("a", "1")], 1)]),
            new MetricFamily("empty", "e", MetricType.Counter, []),
            new MetricFamily("alpha", "a", MetricType.Gauge, [new MetricSeries([], 1)]),
        ]);

        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(["# HELP alpha a", "# TYPE alpha gauge", "alpha 1", "# HELP zeta z", "# TYPE zeta gauge", "zeta{a=\"1\"} 1", "zeta{a=\"2\"} 1"], lines);
        Assert.DoesNotContain("empty", text);
    }

    [Theory]
    [InlineData(0.1, "0.1")]
    [InlineData(2.0, "2")]
    [InlineData(1e-7, "1E-07")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(-3.25, "-3.25")]
    public void Values_use_the_go_float_forms(double value, string expected)
    {
        Assert.Equal(expected, PrometheusTextWriter.FormatValue(value));
        var parsed = PrometheusText.ParseValue(expected);
        Assert.True(parsed.Equals(value), $"{expected} does not read back as {value}");
    }

    [Theory]
    [InlineData("csidriver_ok_name", "csidriver_ok_name")]
    [InlineData("cloud.api-calls", "cloud_api_calls")]
    [InlineData("1st", "_1st")]
    [InlineData("a:b", "a:b")]
    [InlineData("", "_")]
    public void Metric_names_are_sanitized(string name, string expected) =>
        Assert.Equal(expected, PrometheusTextWriter.SanitizeMetricName(name));

    [Theory]
    [InlineData("method", "method")]
    [InlineData("a:b", "a_b")]
    [InlineData("error.code", "error_code")]
    [InlineData("__reserved", "x_reserved")]
    public void Label_names_are_sanitized(string name, string expected) =>
        Assert.Equal(expected, PrometheusTextWriter.SanitizeLabelName(name));

    [Fact]
    public void A_label_named_le_on_a_histogram_does_not_clash_with_the_bucket_label()
    {
        var text = PrometheusTextWriter.Write(
            [new MetricFamily("h", "h", MetricType.Histogram, [new MetricSeries([L("le", "x")], 0, new HistogramSnapshot([1], [1, 0], 1, 1))])]);

        var (types, samples) = PrometheusText.Parse(text);
        PrometheusText.AssertHistogramInvariants(types, samples);
        Assert.All(samples, s => Assert.Equal("x", s.Label("le_")));
    }

    [Fact]
    public void Every_written_line_follows_the_text_format_grammar()
    {
        var text = PrometheusTextWriter.Write(
        [
            new MetricFamily("bad name!", "help", MetricType.Counter, [new MetricSeries([L("bad-label", "v\"\\\n")], 1)]),
            new MetricFamily("h", "h", MetricType.Histogram, [new MetricSeries([L("k", "v")], 0, new HistogramSnapshot([0.5, 5], [1, 1, 1], 7, 3))]),
        ]);

        var (types, samples) = PrometheusText.Parse(text);
        Assert.Equal("counter", types["bad_name_"]);
        Assert.Equal("v\"\\\n", samples.Single(s => s.Name == "bad_name_").Label("bad_label"));
        PrometheusText.AssertHistogramInvariants(types, samples);
    }
}
