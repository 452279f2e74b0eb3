import * as echarts from 'echarts';
import sharp from 'sharp';

/** An ECharts option rendered server-side to SVG, then to PNG by sharp (librsvg). */
export async function renderChartPng(option: echarts.EChartsOption, width: number, height: number): Promise<Buffer> {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, backgroundColor: '#ffffff', ...option });
    return await sharp(Buffer.from(chart.renderToSVGString())).png().toBuffer();
  } finally {
    chart.dispose();
  }
}
