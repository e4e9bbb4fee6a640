// i18n.js — the console's words in Chinese (first) and English, and the
// city's clock: every date and time is shown in Asia/Shanghai, whatever the
// browser's own zone. The language is kept in localStorage ("zh" | "en").

// Every word once: [Chinese, English].
const words = {
  title: ['城市管理全员网格', 'City grid management'], login: ['登录', 'Log in'], login_name: ['账号', 'Login'],
  password: ['密码', 'Password'], logout: ['退出', 'Log out'], lang_switch: ['English', '中文'],
  login_failed: ['账号或密码错误', 'Wrong login or password'], nav_home: ['首页', 'Home'],
  nav_map: ['网格地图', 'Grid map'], nav_report: ['上报', 'Report'], nav_cases: ['案件', 'Cases'],
  nav_routine: ['日常', 'Routine'], nav_assessment: ['考核', 'Assessment'], nav_admin: ['管理', 'Admin'],
  nav_wall: ['大屏', 'Wall'], loading: ['加载中…', 'Loading…'], error: ['出错了', 'Error'], none: ['暂无', 'None'],
  save: ['保存', 'Save'], submit: ['提交', 'Submit'], cancel: ['取消', 'Cancel'], back: ['返回', 'Back'],
  refresh: ['刷新', 'Refresh'], search: ['查询', 'Search'], download_csv: ['下载 CSV', 'Download CSV'],
  open_cases: ['在办案件', 'Open cases'], overdue: ['超期', 'Overdue'], to_handle: ['待我处理', 'Waiting on me'],
  to_fix: ['复查未通过待整改', 'To fix after review'], to_review: ['待审核', 'To review'],
  to_dispatch: ['待派遣', 'To dispatch'], dept_queue: ['本部门待办', "Department's queue"],
  all_cases: ['全部案件', 'All cases'],
  updated_at: ['更新于', 'Updated'], grid: ['网格', 'Grid'], grids: ['网格', 'Grids'],
  category: ['类别', 'Category'], department: ['部门', 'Department'], description: ['描述', 'Description'],
  status: ['状态', 'Status'], level: ['层级', 'Level'], deadline: ['期限', 'Deadline'],
  time_left: ['剩余', 'Time left'], assignee: ['处理人', 'Assignee'], reporter: ['上报人', 'Reporter'],
  reported_at: ['上报时间', 'Reported'], history: ['处理记录', 'History'], photos: ['照片', 'Photos'],
  before_photos: ['处置前照片', 'Before'], after_photos: ['处置后照片', 'After'], actions: ['可执行操作', 'Actions'],
  location: ['位置', 'Location'], pick_on_map: ['在地图上点选位置', 'Click the map to set the point'],
  use_device: ['使用本机定位', 'Use my location'], located_in: ['所在网格', 'Grid'],
  outside_grids: ['该点不在任何网格内', 'This point is in no grid'], handled_on_site: ['已现场处置', 'Handled on site'],
  source: ['来源', 'Source'], likely_duplicates: ['可能重复的案件', 'Likely duplicates'],
  report_done: ['已上报', 'Reported'], note: ['备注', 'Note'], result: ['结果', 'Result'], pass: ['通过', 'Pass'],
  reject: ['不通过', 'Reject'], until: ['延期至', 'Postpone until'], rating: ['满意度', 'Satisfaction'],
  fixed: ['问题已解决', 'Problem fixed'], departments_joint: ['联合处置部门', 'Departments of the joint task'],
  penalty: ['需要行政处罚', 'Needs a penalty'],
  after_photo_needed: ['审核前需上传处置后照片', 'An after photo is needed before review'],
  upload_after: ['上传处置后照片', 'Upload an after photo'], hierarchy: ['层级', 'Hierarchy'],
  office: ['网格办公室', 'Grid office'], staff: ['网格人员', 'Staff'], gaps: ['缺岗', 'Gaps'],
  no_gaps: ['无缺岗', 'No gaps'], checkin: ['签到', 'Check in'], checkin_done: ['签到成功', 'Checked in'],
  distance: ['距离', 'Distance'], meters: ['米', 'm'], patrol: ['巡查', 'Patrol'],
  patrol_start: ['开始巡查', 'Start patrol'], patrol_end: ['结束巡查', 'End patrol'],
  patrol_points: ['轨迹点', 'Track points'], compliance: ['本周巡查达标', "This week's patrol days"],
  week: ['周', 'Week'], days: ['天', 'days'], meetings: ['例会', 'Meetings'], tasks: ['认领任务', 'Claimed tasks'],
  task_done: ['完成', 'Done'], month: ['月份', 'Month'], by: ['维度', 'By'], by_member: ['按人员', 'By member'],
  by_grid: ['按网格', 'By grid'], by_department: ['按部门', 'By department'], score: ['得分', 'Score'],
  ranking: ['排名', 'Ranking'], indicators: ['七项指标', 'The seven indicators'],
  trend: ['月度趋势', 'Trend by month'], annual: ['年度评价', 'Annual evaluation'],
  commendations: ['表彰', 'Commendations'], year: ['年份', 'Year'], plugins: ['插件', 'Plugins'],
  state: ['状态', 'State'], mode: ['模式', 'Mode'], queue: ['队列', 'Queue'], in_flight: ['处理中', 'In flight'],
  dead_letters: ['死信', 'Dead letters'], latency: ['延迟', 'Latency'], reload: ['重载', 'Reload'],
  enable: ['启用', 'Enable'], disable: ['停用', 'Disable'], members: ['人员', 'Members'],
  categories: ['类别与路由', 'Categories and routes'], sla_hours: ['时限(小时)', 'SLA (hours)'],
  name: ['姓名', 'Name'], role: ['角色', 'Role'], new_member: ['新增人员', 'New member'],
  member_id: ['人员编号', 'Member id'], assignments: ['任职', 'Assignments'], created: ['已创建', 'Created'],
  yes: ['是', 'yes'], no: ['否', 'no'], count: ['数量', 'Count'], member: ['人员', 'Member'],
  open: ['在办', 'Open'], closed: ['已办结', 'Closed'], case_page: ['案件详情', 'Case'],
  map_legend: ['颜色：在办案件数；红框：有超期；蓝框：我的网格（可点开）', 'Colour: open cases; red border: overdue; blue border: my grids (click to open)'],
  city_counts: ['全市实时', 'City, live'], my_grids: ['我的网格', 'My grids'],
  wall_title: ['城市管理指挥中心', 'City management command centre'],
};

const statuses = {
  reported: ['已登记', 'Reported'], dispatched: ['已派遣', 'Dispatched'], accepted: ['处置中', 'Accepted'],
  handled: ['待审核', 'Handled'], closed: ['已办结', 'Closed'], cancelled: ['已作废', 'Cancelled'],
};
const levels = {
  grid: ['网格', 'Grid'], community: ['社区/村', 'Community'], joint: ['联合处置', 'Joint'], city: ['市级', 'City'],
};
const roles = {
  leader: ['网格长', 'Grid leader'], instructor: ['指导员', 'Instructor'],
  fulltime: ['专职网格员', 'Full-time member'], professional: ['专业网格员', 'Professional member'],
  optional: ['选配网格员', 'Optional member'], admin: ['管理员', 'Administrator'],
  department: ['部门账号', 'Department account'],
};
const verbs = {
  dispatch: ['派遣', 'Dispatch'], accept: ['受理', 'Accept'], handle: ['处置完成', 'Mark handled'],
  review: ['审核', 'Review'], transfer: ['转办', 'Transfer'], escalate: ['上报升级', 'Escalate'],
  postpone: ['延期', 'Postpone'], cancel: ['作废', 'Cancel'], reopen: ['重新办理', 'Reopen'], rate: ['评价', 'Rate'],
  report: ['上报', 'Report'], assign: ['指派', 'Assigned'], deadline: ['期限', 'Deadline'], note: ['说明', 'Note'],
  photo: ['照片', 'Photo'], require: ['处置要求', 'Requirement'], escalation: ['升级', 'Escalation'],
  subscribe: ['抄送', 'Copied'], link: ['关联', 'Link'], duplicate: ['重复', 'Duplicate'],
};
const sources = {
  patrol: ['巡查发现', 'Patrol'], citizen: ['市民', 'Citizen'], camera: ['监控', 'Camera'],
  hotline: ['热线', 'Hotline'], platform: ['平台', 'Platform'], inspection: ['督查', 'Inspection'],
};
const indicators = {
  patrol_discovery_rate: ['巡查发现率', 'Patrol discovery'], timely_disposal_rate: ['及时处置率', 'Timely disposal'],
  closure_rate: ['结案率', 'Closure'], satisfaction: ['满意度', 'Satisfaction'],
  attendance_rate: ['出勤率', 'Attendance'], coordination: ['协同配合', 'Coordination'],
  effectiveness: ['管理成效', 'Effectiveness'],
};
const pluginStates = {
  ready: ['运行中', 'Ready'], running: ['运行中', 'Running'], loading: ['加载中', 'Loading'],
  disabled: ['已停用', 'Disabled'], down: ['已停止', 'Down'], crashed: ['已崩溃', 'Crashed'],
  failed: ['失败', 'Failed'], draining: ['切换中', 'Draining'], restarting: ['重启中', 'Restarting'],
};

let lang = localStorage.getItem('citygrid.lang') === 'en' ? 'en' : 'zh';

export function getLang() { return lang; }
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh';
  localStorage.setItem('citygrid.lang', lang);
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
}
document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';

// The word for `key` of a table in the current language; the key itself
// when the table has none (a code the console does not know yet).
function pick(table, key) {
  const pair = Object.hasOwn(table, key) ? table[key] : null;
  return pair ? pair[lang === 'en' ? 1 : 0] : key;
}
export const t = (key) => pick(words, key);
export const tStatus = (s) => pick(statuses, s);
export const tLevel = (s) => pick(levels, s);
export const tRole = (s) => pick(roles, s);
export const tVerb = (s) => pick(verbs, s);
export const tSource = (s) => pick(sources, s);
export const tIndicator = (s) => pick(indicators, s);
export const tPluginState = (s) => pick(pluginStates, s);
export const indicatorKeys = Object.keys(indicators);

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
