// i18n.js — the console's words in Chinese (first) and English, and the
// city's clock: every date and time is shown in Asia/Shanghai, whatever the
// browser's own zone. The language is kept in localStorage ("zh" | "en").

const zh = {
  title: '城市管理全员网格', login: '登录', login_name: '账号', password: '密码',
  logout: '退出', lang_switch: 'English', login_failed: '账号或密码错误',
  nav_home: '首页', nav_map: '网格地图', nav_report: '上报', nav_cases: '案件',
  nav_routine: '日常', nav_assessment: '考核', nav_admin: '管理', nav_wall: '大屏',
  loading: '加载中…', error: '出错了', none: '暂无', save: '保存', submit: '提交',
  cancel: '取消', back: '返回', refresh: '刷新', search: '查询', download_csv: '下载 CSV',
  open_cases: '在办案件', overdue: '超期', to_handle: '待我处理', to_fix: '复查未通过待整改',
  to_review: '待审核', to_dispatch: '待派遣', dept_queue: '本部门待办', all_cases: '全部案件',
  city_counts: '全市实时', my_grids: '我的网格', updated_at: '更新于',
  grid: '网格', grids: '网格', category: '类别', department: '部门', description: '描述',
  status: '状态', level: '层级', deadline: '期限', time_left: '剩余', assignee: '处理人',
  reporter: '上报人', reported_at: '上报时间', history: '处理记录', photos: '照片',
  before_photos: '处置前照片', after_photos: '处置后照片', actions: '可执行操作',
  location: '位置', pick_on_map: '在地图上点选位置', use_device: '使用本机定位',
  located_in: '所在网格', outside_grids: '该点不在任何网格内', handled_on_site: '已现场处置',
  source: '来源', likely_duplicates: '可能重复的案件', report_done: '已上报', note: '备注',
  result: '结果', pass: '通过', reject: '不通过', until: '延期至', rating: '满意度',
  fixed: '问题已解决', departments_joint: '联合处置部门', penalty: '需要行政处罚',
  after_photo_needed: '审核前需上传处置后照片', upload_after: '上传处置后照片',
  hierarchy: '层级', office: '网格办公室', staff: '网格人员', gaps: '缺岗', no_gaps: '无缺岗',
  checkin: '签到', checkin_done: '签到成功', distance: '距离', meters: '米',
  patrol: '巡查', patrol_start: '开始巡查', patrol_end: '结束巡查', patrol_points: '轨迹点',
  compliance: '本周巡查达标', week: '周', days: '天', meetings: '例会', tasks: '认领任务',
  task_done: '完成', month: '月份', by: '维度', by_member: '按人员', by_grid: '按网格',
  by_department: '按部门', score: '得分', ranking: '排名', indicators: '七项指标',
  trend: '月度趋势', annual: '年度评价', commendations: '表彰', year: '年份',
  plugins: '插件', state: '状态', mode: '模式', queue: '队列', in_flight: '处理中',
  dead_letters: '死信', latency: '延迟', reload: '重载', enable: '启用', disable: '停用',
  members: '人员', categories: '类别与路由', sla_hours: '时限(小时)', name: '姓名',
  role: '角色', new_member: '新增人员', member_id: '人员编号', assignments: '任职',
  created: '已创建', yes: '是', no: '否', count: '数量', member: '人员',
  open: '在办', closed: '已办结', case_page: '案件详情', map_legend: '颜色：在办案件数；红框：有超期',
  phone_hint: '', wall_title: '城市管理指挥中心',
};

const en = {
  title: 'City grid management', login: 'Log in', login_name: 'Login', password: 'Password',
  logout: 'Log out', lang_switch: '中文', login_failed: 'Wrong login or password',
  nav_home: 'Home', nav_map: 'Grid map', nav_report: 'Report', nav_cases: 'Cases',
  nav_routine: 'Routine', nav_assessment: 'Assessment', nav_admin: 'Admin', nav_wall: 'Wall',
  loading: 'Loading…', error: 'Error', none: 'None', save: 'Save', submit: 'Submit',
  cancel: 'Cancel', back: 'Back', refresh: 'Refresh', search: 'Search', download_csv: 'Download CSV',
  open_cases: 'Open cases', overdue: 'Overdue', to_handle: 'Waiting on me', to_fix: 'To fix after review',
  to_review: 'To review', to_dispatch: 'To dispatch', dept_queue: "Department's queue", all_cases: 'All cases',
  city_counts: 'City, live', my_grids: 'My grids', updated_at: 'Updated',
  grid: 'Grid', grids: 'Grids', category: 'Category', department: 'Department', description: 'Description',
  status: 'Status', level: 'Level', deadline: 'Deadline', time_left: 'Time left', assignee: 'Assignee',
  reporter: 'Reporter', reported_at: 'Reported', history: 'History', photos: 'Photos',
  before_photos: 'Before', after_photos: 'After', actions: 'Actions',
  location: 'Location', pick_on_map: 'Click the map to set the point', use_device: 'Use my location',
  located_in: 'Grid', outside_grids: 'This point is in no grid', handled_on_site: 'Handled on site',
  source: 'Source', likely_duplicates: 'Likely duplicates', report_done: 'Reported', note: 'Note',
  result: 'Result', pass: 'Pass', reject: 'Reject', until: 'Postpone until', rating: 'Satisfaction',
  fixed: 'Problem fixed', departments_joint: 'Departments of the joint task', penalty: 'Needs a penalty',
  after_photo_needed: 'An after photo is needed before review', upload_after: 'Upload an after photo',
  hierarchy: 'Hierarchy', office: 'Grid office', staff: 'Staff', gaps: 'Gaps', no_gaps: 'No gaps',
  checkin: 'Check in', checkin_done: 'Checked in', distance: 'Distance', meters: 'm',
  patrol: 'Patrol', patrol_start: 'Start patrol', patrol_end: 'End patrol', patrol_points: 'Track points',
  compliance: "This week's patrol days", week: 'Week', days: 'days', meetings: 'Meetings', tasks: 'Claimed tasks',
  task_done: 'Done', month: 'Month', by: 'By', by_member: 'By member', by_grid: 'By grid',
  by_department: 'By department', score: 'Score', ranking: 'Ranking', indicators: 'The seven indicators',
  trend: 'Trend by month', annual: 'Annual evaluation', commendations: 'Commendations', year: 'Year',
  plugins: 'Plugins', state: 'State', mode: 'Mode', queue: 'Queue', in_flight: 'In flight',
  dead_letters: 'Dead letters', latency: 'Latency', reload: 'Reload', enable: 'Enable', disable: 'Disable',
  members: 'Members', categories: 'Categories and routes', sla_hours: 'SLA (hours)', name: 'Name',
  role: 'Role', new_member: 'New member', member_id: 'Member id', assignments: 'Assignments',
  created: 'Created', yes: 'yes', no: 'no', count: 'Count', member: 'Member',
  open: 'Open', closed: 'Closed', case_page: 'Case', map_legend: 'Colour: open cases; red border: overdue',
  phone_hint: '', wall_title: 'City management command centre',
};

const statuses = {
  zh: { reported: '已登记', dispatched: '已派遣', accepted: '处置中', handled: '待审核', closed: '已办结', cancelled: '已作废' },
  en: { reported: 'Reported', dispatched: 'Dispatched', accepted: 'Accepted', handled: 'Handled', closed: 'Closed', cancelled: 'Cancelled' },
};
const levels = {
  zh: { grid: '网格', community: '社区/村', joint: '联合处置', city: '市级' },
  en: { grid: 'Grid', community: 'Community', joint: 'Joint', city: 'City' },
};
const roles = {
  zh: { leader: '网格长', instructor: '指导员', fulltime: '专职网格员', professional: '专业网格员', optional: '选配网格员', admin: '管理员', department: '部门账号' },
  en: { leader: 'Grid leader', instructor: 'Instructor', fulltime: 'Full-time member', professional: 'Professional member', optional: 'Optional member', admin: 'Administrator', department: 'Department account' },
};
const verbs = {
  zh: { dispatch: '派遣', accept: '受理', handle: '处置完成', review: '审核', transfer: '转办', escalate: '上报升级', postpone: '延期', cancel: '作废', reopen: '重新办理', rate: '评价', report: '上报', assign: '指派', deadline: '期限', note: '说明', photo: '照片', require: '处置要求', escalation: '升级', subscribe: '抄送', link: '关联', duplicate: '重复' },
  en: { dispatch: 'Dispatch', accept: 'Accept', handle: 'Mark handled', review: 'Review', transfer: 'Transfer', escalate: 'Escalate', postpone: 'Postpone', cancel: 'Cancel', reopen: 'Reopen', rate: 'Rate', report: 'Report', assign: 'Assigned', deadline: 'Deadline', note: 'Note', photo: 'Photo', require: 'Requirement', escalation: 'Escalation', subscribe: 'Copied', link: 'Link', duplicate: 'Duplicate' },
};
const sources = {
  zh: { patrol: '巡查发现', citizen: '市民', camera: '监控', hotline: '热线', platform: '平台', inspection: '督查' },
  en: { patrol: 'Patrol', citizen: 'Citizen', camera: 'Camera', hotline: 'Hotline', platform: 'Platform', inspection: 'Inspection' },
};
const indicators = {
  zh: { patrol_discovery_rate: '巡查发现率', timely_disposal_rate: '及时处置率', closure_rate: '结案率', satisfaction: '满意度', attendance_rate: '出勤率', coordination: '协同配合', effectiveness: '管理成效' },
  en: { patrol_discovery_rate: 'Patrol discovery', timely_disposal_rate: 'Timely disposal', closure_rate: 'Closure', satisfaction: 'Satisfaction', attendance_rate: 'Attendance', coordination: 'Coordination', effectiveness: 'Effectiveness' },
};
const pluginStates = {
  zh: { ready: '运行中', running: '运行中', loading: '加载中', disabled: '已停用', down: '已停止', crashed: '已崩溃', failed: '失败', draining: '切换中', restarting: '重启中' },
  en: {},
};

let lang = localStorage.getItem('citygrid.lang') === 'en' ? 'en' : 'zh';

export function getLang() { return lang; }
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh';
  localStorage.setItem('citygrid.lang', lang);
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
}
document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';

export function t(key) { return (lang === 'en' ? en : zh)[key] ?? key; }
export const tStatus = (s) => statuses[lang][s] ?? s;
export const tLevel = (s) => levels[lang][s] ?? s;
export const tRole = (s) => roles[lang][s] ?? s;
export const tVerb = (s) => verbs[lang][s] ?? s;
export const tSource = (s) => sources[lang][s] ?? s;
export const tIndicator = (s) => indicators[lang][s] ?? s;
export const tPluginState = (s) => pluginStates[lang][s] ?? s;
export const indicatorKeys = Object.keys(indicators.en);

// The catalog's names: name_zh first, the English name when asked.
export function tName(obj) {
  if (!obj) return '';
  return lang === 'en' ? (obj.name || obj.name_en || obj.name_zh || obj.code) : (obj.name_zh || obj.name || obj.code);
}

const cityZone = 'Asia/Shanghai';
const fmtCache = {};
function formatter(kind) {
  const k = lang + kind;
  if (!fmtCache[k]) {
    const opts = kind === 'date'
      ? { timeZone: cityZone, year: 'numeric', month: '2-digit', day: '2-digit' }
      : { timeZone: cityZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false };
    fmtCache[k] = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'zh-CN', opts);
  }
  return fmtCache[k];
}
// "2026-12-03T08:00:00Z" -> "2026/12/03 16:00" (city time)
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : formatter('time').format(d);
}
export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : formatter('date').format(d);
}
// Time left until iso (negative: overdue), "3小时20分" / "3 h 20 min".
export function fmtLeft(iso) {
  if (!iso) return '—';
  let ms = new Date(iso) - Date.now();
  const late = ms < 0;
  ms = Math.abs(ms);
  const h = Math.floor(ms / 3600000), m = Math.floor((ms % 3600000) / 60000);
  const d = Math.floor(h / 24);
  let s;
  if (lang === 'en') s = d >= 2 ? `${d} d ${h % 24} h` : `${h} h ${m} min`;
  else s = d >= 2 ? `${d}天${h % 24}小时` : `${h}小时${m}分`;
  return late ? (lang === 'en' ? `${s} overdue` : `超期${s}`) : s;
}
// The city's current month "YYYY-MM" and date parts.
export function cityToday() {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: cityZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  return parts; // YYYY-MM-DD
}
export function cityMonth() { return cityToday().slice(0, 7); }
export function cityIsoWeek() {
  const [y, m, d] = cityToday().split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  const day = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - day);
  const yearStart = new Date(Date.UTC(date.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((date - yearStart) / 86400000 + 1) / 7);
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
