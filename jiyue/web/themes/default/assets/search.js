/* Completion for the search boxes (forms with data-suggest): while the visitor types, ask this
   host's /_/search/suggest for popular queries, words (also by pinyin or initials: "sb", "gjj")
   and titles, and offer them as a list box under the field (arrow keys, Enter, Escape, or the
   mouse). Without JavaScript the boxes are plain forms and search works the same. */
(function(){
  if(!window.fetch||!document.querySelectorAll)return;
  var forms=document.querySelectorAll("form[data-suggest]");
  Array.prototype.forEach.call(forms,function(form,k){
    var input=form.querySelector("input[name=q]");
    if(!input)return;
    var url=form.getAttribute("data-suggest"),timer=null,seq=0,active=-1,items=[];
    var list=document.createElement("ul");
    list.id="suggest-"+k;list.className="suggest-list";list.hidden=true;
    list.setAttribute("role","listbox");
    list.setAttribute("aria-label",form.getAttribute("data-suggest-label")||"");
    form.classList.add("suggest-host");
    form.appendChild(list);
    input.setAttribute("role","combobox");
    input.setAttribute("aria-autocomplete","list");
    input.setAttribute("aria-expanded","false");
    input.setAttribute("aria-controls",list.id);
    input.setAttribute("autocomplete","off");
    function close(){
      list.hidden=true;active=-1;
      input.setAttribute("aria-expanded","false");
      input.removeAttribute("aria-activedescendant");
    }
    function mark(i){
      active=i;
      Array.prototype.forEach.call(list.children,function(li,j){
        li.setAttribute("aria-selected",j===i?"true":"false");
      });
      if(i>=0)input.setAttribute("aria-activedescendant",list.id+"-"+i);
      else input.removeAttribute("aria-activedescendant");
    }
    function pick(text){input.value=text;close();form.submit();}
    function show(found){
      items=found;list.textContent="";
      if(!found.length){close();return;}
      found.forEach(function(s,i){
        var li=document.createElement("li");
        li.id=list.id+"-"+i;li.setAttribute("role","option");li.setAttribute("aria-selected","false");
        li.textContent=s.text;
        li.addEventListener("mousedown",function(e){e.preventDefault();pick(s.text);});
        list.appendChild(li);
      });
      // under the field (CSSOM, which the Content-Security-Policy allows; no style attribute)
      list.style.top=(input.offsetTop+input.offsetHeight)+"px";
      list.style.left=input.offsetLeft+"px";
      list.style.minWidth=input.offsetWidth+"px";
      list.hidden=false;active=-1;
      input.setAttribute("aria-expanded","true");
    }
    input.addEventListener("input",function(){
      clearTimeout(timer);
      var value=input.value.trim();
      if(!value){close();return;}
      timer=setTimeout(function(){
        var mine=++seq;
        fetch(url+"?q="+encodeURIComponent(value),{credentials:"same-origin",
              headers:{"Accept":"application/json"}})
          .then(function(r){return r.ok?r.json():null;})
          .then(function(d){if(d&&mine===seq)show(d.suggestions||[]);})
          .catch(function(){});
      },150);
    });
    input.addEventListener("keydown",function(e){
      if(list.hidden)return;
      if(e.key==="ArrowDown"){e.preventDefault();mark((active+1)%items.length);}
      else if(e.key==="ArrowUp"){e.preventDefault();mark(active<=0?items.length-1:active-1);}
      else if(e.key==="Enter"&&active>=0){e.preventDefault();pick(items[active].text);}
      else if(e.key==="Escape"){close();}
    });
    input.addEventListener("blur",function(){setTimeout(close,100);});
  });
})();
